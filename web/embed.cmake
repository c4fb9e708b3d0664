# Writes OUT: a C file holding the bytes of IN as
#   const char SYMBOL[]; (NUL-terminated)  const size_t SYMBOL_len;
# Used for web/openapi.json, so the document served is the one in the tree.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n"
       bytes "${bytes}")
set(body "/* Generated from ${IN} by web/embed.cmake; do not edit. */\n")
string(APPEND body "#include <stddef.h>\n#include \"web/web_int.h\"\n")
string(APPEND body "const char ${SYMBOL}[] = {\n${bytes}0x00};\n")
string(APPEND body "const size_t ${SYMBOL}_len = ${len};\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
