/* libyaml's bare parse, the yardstick of `cargo bench --bench plan`: pulls every event from
 * every file named on the command line (or one path per line on stdin) and keeps nothing.
 * Prints the files, documents and events seen, and the wall-clock and CPU nanoseconds the parse
 * took; reading the files into memory beforehand is not counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

struct text {
    unsigned char *bytes;
    size_t len;
};

static struct text slurp(const char *path) {
    struct text t = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    size_t cap = 1 << 16;
    t.bytes = malloc(cap);
    for (;;) {
        if (t.len == cap) t.bytes = realloc(t.bytes, cap *= 2);
        size_t n = fread(t.bytes + t.len, 1, cap - t.len, f);
        if (n == 0) break;
        t.len += n;
    }
    fclose(f);
    return t;
}

static double now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
    size_t count = 0, cap = 16;
    struct text *texts = malloc(cap * sizeof *texts);
    char line[4096];
    for (int i = 1; i < argc || (argc == 1 && fgets(line, sizeof line, stdin)); i++) {
        const char *path = argc > 1 ? argv[i] : (line[strcspn(line, "\n")] = 0, line);
        if (!*path) continue;
        if (count == cap) texts = realloc(texts, (cap *= 2) * sizeof *texts);
        texts[count++] = slurp(path);
    }
    unsigned long documents = 0, events = 0;
    double start = now_ns(CLOCK_MONOTONIC), start_cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t i = 0; i < count; i++) {
        yaml_parser_t parser;
        yaml_event_t event;
        yaml_parser_initialize(&parser);
        yaml_parser_set_input_string(&parser, texts[i].bytes, texts[i].len);
        for (int done = 0; !done;) {
            if (!yaml_parser_parse(&parser, &event)) {
                fprintf(stderr, "file %zu: %s at line %zu\n", i, parser.problem,
                        parser.problem_mark.line + 1);
                return 1;
            }
            events++;
            documents += event.type == YAML_DOCUMENT_START_EVENT;
            done = event.type == YAML_STREAM_END_EVENT;
            yaml_event_delete(&event);
        }
        yaml_parser_delete(&parser);
    }
    double wall = now_ns(CLOCK_MONOTONIC) - start, cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - start_cpu;
    printf("files %zu documents %lu events %lu wall_ns %.0f cpu_ns %.0f\n", count, documents,
           events, wall, cpu);
    return 0;
}
