#!/usr/bin/env bash
# Makes the rpm databases in this folder (README.md says what each is): four small noarch
# packages built with Debian's rpmbuild, installed (--justdb) into a new database by Debian's
# rpm, which writes rpmdb.sqlite; their header blobs, as rpm stored them there, written again
# as a BerkeleyDB hash `Packages` by Berkeley DB's own db5.3_load and as an ndb `Packages.db`
# laid out as rpm's lib/backend/ndb/rpmpkg.c lays it out. rpm reads `Packages` back (its
# bdb_ro backend) to check it; Debian's rpm has no ndb backend.
#
#   apt-get install -y rpm db5.3-util python3 && bash testdata/rpm/generate.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000
defines=(--define "_topdir $work/top" --define "_buildhost fixture"
    --define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1")

# NAME VERSION RELEASE EPOCH LICENSE FILES [SUBPACKAGE]: a spec of a noarch package holding
# FILES empty files (a larger header), or of only SUBPACKAGE (NAME-SUBPACKAGE) when given.
spec() {
    local name=$1 version=$2 release=$3 epoch=$4 license=$5 files=$6 sub=${7:-}
    printf 'Name: %s\nVersion: %s\nRelease: %s\n' "$name" "$version" "$release"
    [[ $epoch ]] && printf 'Epoch: %s\n' "$epoch"
    printf 'Summary: fixture\nLicense: %s\nBuildArch: noarch\n%%description\nfixture\n' "$license"
    local files_of=""
    if [[ $sub ]]; then
        printf '%%package %s\nSummary: fixture\n%%description %s\nfixture\n' "$sub" "$sub"
        files_of=" $sub"
    fi
    printf '%%install\nmkdir -p %%{buildroot}/usr/share/%s\n' "$name"
    printf 'for i in $(seq %s); do touch %%{buildroot}/usr/share/%s/file-$i; done\n' "$files" "$name"
    printf '%%files%s\n/usr/share/%s\n' "$files_of" "$name"
}

cd "$work"
spec openssl 3.0.8 1.ph5 "" Apache-2.0 1 libs >openssl.spec
spec tzdata 2023c 1.ph5 1 "Public Domain" 1 >tzdata.spec
spec bash 5.2.15 2.ph5 "" GPLv3+ 150 >bash.spec
spec curl '8.1.2~rc1' 1.ph5 "" curl 1 >curl.spec
for s in *.spec; do rpmbuild "${defines[@]}" --quiet -bb "$s"; done

mkdir -p root
rpm --root "$work/root" --dbpath /var/lib/rpm --initdb
rpm --root "$work/root" --dbpath /var/lib/rpm -i --justdb --nodeps --nosignature \
    top/RPMS/noarch/*.rpm 2>/dev/null
# A signing key, which rpm records as a package named gpg-pubkey.
export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'fixture <fixture@example.invalid>' \
    ed25519 sign never 2>/dev/null
gpg --batch --armor --export >key.asc
rpm --root "$work/root" --dbpath /var/lib/rpm --import key.asc
rpm --root "$work/root" --dbpath /var/lib/rpm -qa \
    --qf '%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %{ARCH} %{SOURCERPM} %{LICENSE}\n' \
    | sort >expected.txt
cp root/var/lib/rpm/rpmdb.sqlite "$here/rpmdb.sqlite"

# The blobs, by header number, as Berkeley DB's dump format (bytes in hex) with the record
# rpm keeps at key 0 (the last header number), and as an ndb file. Pages of 8192 bytes keep
# the small headers on their bucket's page and put bash's (20 KB) on overflow pages: both
# kinds of item in one file.
python3 - "$work/root/var/lib/rpm/rpmdb.sqlite" "$work/dump" "$here/Packages.db" <<'EOF'
import sqlite3, struct, sys, zlib

rows = sqlite3.connect(sys.argv[1]).execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
with open(sys.argv[2], "w") as dump:
    dump.write("VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=8192\nHEADER=END\n")
    records = [(0, struct.pack("<I", rows[-1][0]))] + [(hnum, blob) for hnum, blob in rows]
    for key, value in records:
        dump.write(" %s\n %s\n" % (struct.pack("<I", key).hex(), bytes(value).hex()))
    dump.write("DATA=END\n")

# ndb: a 4096-byte slot page (a 32-byte header, then 16-byte slots), blobs after it in 16-byte
# blocks: head (magic, package index, time, length), the blob, zeros to the block, tail
# (adler32 of all before it, length, magic). All little-endian.
PAGE, BLK = 4096, 16
out = bytearray(struct.pack("<4sIIII12x", b"RpmP", 0, 1, 1, len(rows) + 1))
slots, blobs = [], bytearray()
for hnum, blob in rows:
    blob = bytes(blob)
    blkcnt = (16 + len(blob) + 12 + BLK - 1) // BLK
    body = struct.pack("<4sIII", b"BlbS", hnum, 1700000000, len(blob)) + blob
    body += bytes(blkcnt * BLK - 12 - len(body))
    blkoff = (PAGE + len(blobs)) // BLK
    blobs += body + struct.pack("<II4s", zlib.adler32(body), len(blob), b"BlbE")
    slots.append(struct.pack("<4sIII", b"Slot", hnum, blkoff, blkcnt))
out += b"".join(slots)
while len(out) < PAGE:
    out += struct.pack("<4s12x", b"Slot")
open(sys.argv[3], "wb").write(bytes(out + blobs))
EOF
rm -f "$here/Packages"
db5.3_load -f dump "$here/Packages"

# rpm reads the BerkeleyDB file back and finds what it installed.
mkdir -p bdb && cp "$here/Packages" bdb/
rpm --dbpath "$work/bdb" --define '_db_backend bdb_ro' -qa \
    --qf '%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %{ARCH} %{SOURCERPM} %{LICENSE}\n' \
    2>/dev/null | sort >bdb.txt
diff expected.txt bdb.txt
cp expected.txt "$here/expected.txt"
ls -l "$here"
