//! pom.xml, as Maven reads it.

use std::collections::HashMap;

use quick_xml::events::{BytesRef, Event};

use super::Found;

/// Elements whose dependencies are not the project's own: versions managed for whoever
/// declares them, and the build's plugins'.
const NOT_THE_PROJECTS: [&str; 2] = ["dependencyManagement", "plugins"];

/// At most this many rounds of `${…}` inside property values are followed, to this length: a
/// real pom needs one or two; a hostile one could double its text with each.
const INTERPOLATION_ROUNDS: usize = 8;
const INTERPOLATED_MAX: usize = 1024;

/// A `<dependency>` as written, before its `${…}`s are resolved.
#[derive(Default)]
struct Coordinates {
    group: String,
    artifact: String,
    version: String,
    scope: String,
}

/// The dependencies of a pom: each `<dependency>` of a `<dependencies>` outside
/// `<dependencyManagement>` and `<plugins>` (a profile's included: it may be active), at its
/// start tag, but those of scope `test`, which the packaged application does not hold. `${…}` is
/// resolved from the pom's `<properties>` and its own and its parent's `groupId` and `version`,
/// not from a parent pom's properties or the command line. quick-xml reads the text; it expands
/// no entity a DTD defines.
pub(super) fn read(text: &str) -> Vec<Found> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut not_the_projects = 0usize;
    let mut properties = HashMap::new();
    // The dependency being read: where it starts and how deep it is.
    let mut open: Option<(usize, usize, Coordinates)> = None;
    let mut dependencies = Vec::new();
    // The text of the element being read, once it has no child.
    let mut content = String::new();
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match reader.read_event() {
            Ok(Event::Start(tag)) => {
                let name = tag.local_name().as_ref().to_string();
                not_the_projects += usize::from(NOT_THE_PROJECTS.contains(&name.as_str()));
                let in_dependencies = path.last().is_some_and(|parent| parent == "dependencies");
                let dependency = name == "dependency";
                path.push(name);
                if dependency && in_dependencies && not_the_projects == 0 && open.is_none() {
                    open = Some((at, path.len(), Coordinates::default()));
                }
                content.clear();
            }
            Ok(Event::Text(part)) => content.push_str(&part.xml10_content()),
            Ok(Event::CData(part)) => content.push_str(&part.xml10_content()),
            Ok(Event::GeneralRef(reference)) => push_reference(&mut content, &reference),
            Ok(Event::End(_)) => {
                let value = content.trim().to_string();
                match &mut open {
                    Some((_, depth, coordinates)) if path.len() == *depth + 1 => {
                        let field = match path.last().map(String::as_str) {
                            Some("groupId") => Some(&mut coordinates.group),
                            Some("artifactId") => Some(&mut coordinates.artifact),
                            Some("version") => Some(&mut coordinates.version),
                            Some("scope") => Some(&mut coordinates.scope),
                            _ => None,
                        };
                        if let Some(field) = field {
                            *field = value;
                        }
                    }
                    Some((_, depth, _)) if path.len() == *depth => dependencies.extend(open.take()),
                    _ => {
                        if let Some(property) = property_name(&path) {
                            properties.insert(property, value);
                        }
                    }
                }
                if let Some(name) = path.pop() {
                    not_the_projects -= usize::from(NOT_THE_PROJECTS.contains(&name.as_str()));
                }
                content.clear();
            }
            // A malformed pom: what was read so far.
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    for field in ["groupId", "version"] {
        if let Some(parents) = properties.get(&format!("project.parent.{field}")).cloned() {
            properties
                .entry(format!("project.{field}"))
                .or_insert(parents);
        }
    }
    dependencies
        .into_iter()
        .filter(|(_, _, c)| !c.group.is_empty() && !c.artifact.is_empty() && c.scope != "test")
        .map(|(at, _, coordinates)| {
            let resolve = |value: &str| interpolate(value, &properties);
            let name = format!(
                "{}:{}",
                resolve(&coordinates.group),
                resolve(&coordinates.artifact)
            );
            let version = resolve(&coordinates.version);
            let pinned = maven_pin(&version).then(|| version.clone());
            let text = if version.is_empty() {
                name.clone()
            } else {
                format!("{name}:{version}")
            };
            Found::new(at, name, pinned, &text)
        })
        .collect()
}

/// Appends what an entity or character reference in text stands for: a character, one of
/// XML's five entities, or (one a DTD would define) the reference as written.
fn push_reference(content: &mut String, reference: &BytesRef) {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => content.push(c),
        _ => match quick_xml::escape::resolve_predefined_entity(reference) {
            Some(entity) => content.push_str(entity),
            None => content.push_str(&format!("&{};", &**reference)),
        },
    }
}

/// The `${…}` name an element at `path` defines: each of `<properties>`, and the project's and
/// its parent's `groupId` and `version`.
fn property_name(path: &[String]) -> Option<String> {
    let coordinate = |field: &String| ["groupId", "version"].contains(&field.as_str());
    match path {
        [project, properties, name] if project == "project" && properties == "properties" => {
            Some(name.clone())
        }
        [project, field] if project == "project" && coordinate(field) => {
            Some(format!("project.{field}"))
        }
        [project, parent, field]
            if project == "project" && parent == "parent" && coordinate(field) =>
        {
            Some(format!("project.parent.{field}"))
        }
        _ => None,
    }
}

/// `value` with its `${name}`s replaced by `properties`, as Maven interpolates, round after
/// round since a property may refer to others; as written when one is undefined or the
/// replacing goes past the bounds.
fn interpolate(value: &str, properties: &HashMap<String, String>) -> String {
    (0..INTERPOLATION_ROUNDS)
        .try_fold(value.to_string(), |current, _| {
            if current.contains("${") {
                substitute(&current, properties)
            } else {
                Some(current)
            }
        })
        .filter(|resolved| !resolved.contains("${"))
        .unwrap_or_else(|| value.to_string())
}

/// One round of `interpolate`: each `${name}` of `text` replaced, or None.
fn substitute(text: &str, properties: &HashMap<String, String>) -> Option<String> {
    let mut next = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}')?;
        next.push_str(&rest[..start]);
        next.push_str(properties.get(&rest[start + 2..end])?);
        if next.len() > INTERPOLATED_MAX {
            return None;
        }
        rest = &rest[end + 1..];
    }
    next.push_str(rest);
    Some(next)
}

/// Whether a Maven `<version>` is one version: not a range (`[1.0,2.0)`), an unresolved
/// `${…}` or a meta-version that Maven resolves to the newest.
fn maven_pin(version: &str) -> bool {
    !version.is_empty()
        && !version.contains(|c: char| "[](),${}".contains(c) || c.is_whitespace())
        && !["LATEST", "RELEASE"].contains(&version)
}

#[cfg(test)]
mod tests {
    use crate::manifest::declared;
    use crate::manifest::tests::{dep, read, texts};
    use crate::model::Language;
    use crate::model::catalog::Ecosystem;
    use crate::model::diag::Pos;

    const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <parent>
    <groupId>com.example</groupId>
    <artifactId>parent</artifactId>
    <version>7.1</version>
  </parent>
  <artifactId>app</artifactId>
  <properties>
    <log4j.version>2.14.1</log4j.version>
    <jackson.version>${jackson.major}.3</jackson.version>
    <jackson.major>2.15</jackson.major>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>org.springframework</groupId>
        <artifactId>spring-core</artifactId>
        <version>5.3.0</version>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <!-- <dependency><groupId>commented</groupId><artifactId>out</artifactId></dependency> -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>${log4j.version}</version>
      <exclusions>
        <exclusion>
          <groupId>excluded.group</groupId>
          <artifactId>excluded</artifactId>
        </exclusion>
      </exclusions>
    </dependency>
    <dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-databind</artifactId><version>${jackson.version}</version></dependency>
    <dependency>
      <groupId>org.springframework</groupId>
      <artifactId>spring-core</artifactId>
    </dependency>
    <dependency>
      <groupId>${project.groupId}</groupId>
      <artifactId>sibling</artifactId>
      <version>${project.version}</version>
    </dependency>
    <dependency>
      <groupId>com.google.guava</groupId>
      <artifactId>guava</artifactId>
      <version>[30.0,32.0)</version>
    </dependency>
    <dependency>
      <groupId>org.undefined</groupId>
      <artifactId>thing</artifactId>
      <version>${nowhere.version}</version>
    </dependency>
    <dependency>
      <groupId>junit</groupId>
      <artifactId>junit</artifactId>
      <version>4.13.2</version>
      <scope>test</scope>
    </dependency>
    <dependency>
      <groupId>a&amp;b&#46;c</groupId>
      <artifactId><![CDATA[cdata-artifact]]></artifactId>
      <version> 1.0 </version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <artifactId>maven-shade-plugin</artifactId>
        <dependencies>
          <dependency>
            <groupId>org.ow2.asm</groupId>
            <artifactId>asm</artifactId>
            <version>9.0</version>
          </dependency>
        </dependencies>
      </plugin>
    </plugins>
  </build>
</project>
"#;

    #[test]
    fn pom_dependencies_are_read_at_their_start_tags() {
        assert_eq!(
            read(Language::Java, POM),
            vec![
                dep("org.apache.logging.log4j:log4j-core", Some("2.14.1"), 25, 5),
                dep(
                    "com.fasterxml.jackson.core:jackson-databind",
                    Some("2.15.3"),
                    36,
                    5
                ),
                dep("org.springframework:spring-core", None, 37, 5),
                dep("com.example:sibling", Some("7.1"), 41, 5),
                dep("com.google.guava:guava", None, 46, 5),
                dep("org.undefined:thing", None, 51, 5),
                dep("a&b.c:cdata-artifact", Some("1.0"), 62, 5),
            ]
        );
        assert_eq!(
            texts(Language::Java, POM),
            [
                "org.apache.logging.log4j:log4j-core:2.14.1",
                "com.fasterxml.jackson.core:jackson-databind:2.15.3",
                "org.springframework:spring-core",
                "com.example:sibling:7.1",
                "com.google.guava:guava:[30.0,32.0)",
                "org.undefined:thing:${nowhere.version}",
                "a&b.c:cdata-artifact:1.0",
            ]
        );
        assert!(
            declared(Language::Java, POM)
                .iter()
                .all(|d| d.ecosystem == Ecosystem::Maven)
        );
    }

    #[test]
    fn a_pom_read_with_crlf_has_the_same_positions() {
        let crlf = POM.replace('\n', "\r\n");
        assert_eq!(read(Language::Java, &crlf), read(Language::Java, POM));
    }

    #[test]
    fn pom_versions_pin_only_when_plain() {
        for (version, pinned) in [
            ("1.0", true),
            ("2.0.0-SNAPSHOT", true),
            ("1.0.Final", true),
            ("[1.0]", false),
            ("[1.0,2.0)", false),
            ("(,1.0]", false),
            ("LATEST", false),
            ("RELEASE", false),
            ("${undefined}", false),
            ("", false),
        ] {
            let pom = format!(
                "<project><dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId>\
                 <version>{version}</version></dependency></dependencies></project>"
            );
            let found = declared(Language::Java, &pom);
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].pinned.is_some(), pinned, "{version}");
            assert_eq!(found[0].pos, Pos::new(1, 24));
        }
    }

    #[test]
    fn pom_properties_that_expand_without_end_are_left_as_written() {
        let doubling: String = (0..40)
            .map(|i| format!("<p{i}>${{p{n}}}${{p{n}}}</p{i}>", n = i + 1))
            .collect();
        let pom = format!(
            "<project><properties>{doubling}<p40>x</p40><loop>${{loop}}</loop></properties><dependencies>\
             <dependency><groupId>g</groupId><artifactId>a</artifactId><version>${{p0}}</version></dependency>\
             <dependency><groupId>g</groupId><artifactId>b</artifactId><version>${{loop}}</version></dependency>\
             </dependencies></project>"
        );
        let found = declared(Language::Java, &pom);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].text, "g:a:${p0}");
        assert_eq!(found[1].text, "g:b:${loop}");
        assert!(found.iter().all(|d| d.pinned.is_none()));
    }

    #[test]
    fn a_malformed_pom_declares_what_comes_before_the_fault() {
        let good = "<project><dependencies>\n<dependency><groupId>g</groupId><artifactId>a</artifactId><version>1.0</version></dependency>\n";
        for tail in [
            "",
            "<dependency><groupId>g</groupId><artifactId>b</artif",
            "<dependency><groupId>g</groupId></wrong></dependency>",
            "<dependency><groupId>g&unknown;</groupId><artifactId>c</artifactId></dependency></dependencies></project>",
        ] {
            let found = read(Language::Java, &format!("{good}{tail}"));
            assert_eq!(found[0], dep("g:a", Some("1.0"), 2, 1), "{tail}");
        }
        let unknown_entity = format!(
            "{good}<dependency><groupId>g&unknown;</groupId><artifactId>c</artifactId></dependency></dependencies></project>"
        );
        assert_eq!(texts(Language::Java, &unknown_entity)[1], "g&unknown;:c");
        assert_eq!(read(Language::Java, "not xml"), vec![]);
        assert_eq!(
            read(
                Language::Java,
                "<dependency><groupId>g</groupId><artifactId>a</artifactId></dependency>"
            ),
            vec![]
        );
    }
}
