#!/usr/bin/env bash
# Regenerates the protobuf-c code of this target from the .proto files in proto/.
# Needs protoc-c (Debian: protobuf-c-compiler). The output is committed; building
# lookout does not run this.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$here/proto"
protoc-c --c_out="$tmp" -I. metrics.proto profile.proto remote.proto types.proto google/protobuf/timestamp.proto
mkdir -p "$here/include/google/protobuf"
cp "$tmp"/metrics.pb-c.h "$tmp"/profile.pb-c.h "$tmp"/remote.pb-c.h "$tmp"/types.pb-c.h "$here/include/"
cp "$tmp"/google/protobuf/timestamp.pb-c.h "$here/include/google/protobuf/"
cp "$tmp"/metrics.pb-c.c "$tmp"/profile.pb-c.c "$tmp"/remote.pb-c.c "$tmp"/types.pb-c.c "$here/"
cp "$tmp"/google/protobuf/timestamp.pb-c.c "$here/timestamp.pb-c.c"
echo "regenerated: $(cd "$here" && ls *.pb-c.c include/*.pb-c.h include/google/protobuf/*.pb-c.h | tr '\n' ' ')"
