#!/usr/bin/env bash
# Source rules the compiler cannot check (STYLE.md §1.1, §9):
#  - banned functions (gets strcpy strcat sprintf vsprintf strtok atoi atol strerror system popen);
#  - sqlite3_* only in engine/store*.[ch], MHD_* only in web/;
#  - clang-format clean (when clang-format is installed).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
src=$(git ls-files 'engine/*.[ch]' 'tasks/*.[ch]' 'web/*.[ch]' 'tests/*.[ch]' 2>/dev/null)
if [ -z "$src" ]; then
    src=$(find engine tasks web tests -name '*.[ch]' 2>/dev/null)
fi

banned='\b(gets|strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|strerror|system|popen)[[:space:]]*\('
if hits=$(grep -nE "$banned" $src | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)'); then
    echo "lint: banned function (use the safe alternative):"
    echo "$hits"
    status=1
fi
if hits=$(grep -nE '\bsqlite3_[a-z_]+\s*\(' $src | grep -vE '^engine/store[^/]*\.[ch]:'); then
    echo "lint: sqlite3_* outside engine/store*.[ch]:"
    echo "$hits"
    status=1
fi
if hits=$(grep -nE '\bMHD_[A-Za-z_]+' $src | grep -vE '^web/'); then
    echo "lint: MHD_* outside web/:"
    echo "$hits"
    status=1
fi
if command -v clang-format >/dev/null 2>&1; then
    if ! clang-format --dry-run --Werror $src 2>/tmp/weir-clang-format.$$; then
        echo "lint: clang-format differences (run: clang-format -i <files>):"
        head -40 /tmp/weir-clang-format.$$
        status=1
    fi
    rm -f /tmp/weir-clang-format.$$
fi
[ $status -eq 0 ] && echo "lint: ok"
exit $status
