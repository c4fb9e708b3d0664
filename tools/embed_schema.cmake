# Writes OUT: a C file holding every migration in FILES (sorted), as
#   const wr_migration_t wr_schema_migrations[]; const size_t wr_schema_migration_count;
# The number before the first '_' of each file name is its user_version. FILES is
# ','-separated (a ';' list would be split by the shell of the build command).
string(REPLACE "," ";" FILES "${FILES}")
set(body "/* Generated from schema/NNNN_name.sql by tools/embed_schema.cmake; do not edit. */\n")
string(APPEND body "#include <stddef.h>\n#include \"engine/store_schema.h\"\n")
string(APPEND body "const wr_migration_t wr_schema_migrations[] = {\n")
set(count 0)
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  string(REGEX MATCH "^[0-9]+" num ${name})
  math(EXPR num "${num}")
  file(READ ${f} sql)
  string(REPLACE "\\" "\\\\" sql "${sql}")
  string(REPLACE "\"" "\\\"" sql "${sql}")
  string(REPLACE "\n" "\\n\"\n\"" sql "${sql}")
  string(APPEND body "  {${num}, \"${name}\",\n\"${sql}\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
string(APPEND body "};\nconst size_t wr_schema_migration_count = ${count};\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
