#!/usr/bin/env python3
"""Makes DEST/src: a copy of src/ whose reply.c tries bench/proto/fastpage.c
first (the change the benchmarks recommend), for `make bench-proto`. Nothing
in src/ is touched. Exits 1, saying why, when reply.c no longer has the
spot the patch goes in."""
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANCHOR = "  t->json = parse_exact(r->body, r->body_len, &err_at, &trailing);\n  if (t->json == NULL) {\n    push_parse_message"
FAST = """  if (sfn_fast_page(L, r->body, r->body_len, keys)) {
    lua_pushvalue(L, keys + K_RESPONSE_METADATA);
    push_metadata(L, r);
    lua_rawset(L, -3);
    return 1;
  }
"""
DECL = "\nint sfn_fast_page(lua_State *L, const char *body, size_t len, int keys);\n"


def main(dest):
    src = os.path.join(dest, "src")
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "src"), src)
    shutil.copy(os.path.join(ROOT, "bench", "proto", "fastpage.c"), os.path.join(src, "fastpage.c"))
    path = os.path.join(src, "reply.c")
    with open(path) as f:
        text = f.read()
    if text.count(ANCHOR) != 1 or "#define REPLY_TREE_MT" not in text:
        sys.stderr.write("patch_reply.py: src/reply.c changed shape; the prototype needs updating\n")
        return 1
    text = text.replace(ANCHOR, FAST + ANCHOR)
    text = text.replace("#define REPLY_TREE_MT", DECL + "#define REPLY_TREE_MT", 1)
    with open(path, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
