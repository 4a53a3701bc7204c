#!/bin/bash
# values: every kind of value vlbimon sends, into every column type, stored
# alike by the live path (the pipeline and the store, as `transform
# --sqlitedb` and the bridge run them) and by `insert` of the history files
# the same values make, both straight (bulk load) and through a transformer.
# docs/schema.md has the conversion table this checks.
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# Each pair: a value as it comes in a snapshot (JSON), then the CSV field
# `history` writes for it ("-": no line, the point is dropped).
V=(
    '1' '1'
    '0' '0'
    '2' '2'
    '-7' '-7'
    '1.5' '1.5'
    '0.1' '0.1'
    '0.30000000000000004' '0.30000000000000004'
    '-0.0' '0'
    '1e300' '1e+300'
    '1.7976931348623157e308' '1.7976931348623157e+308'
    '1e16' '10000000000000000'
    '9007199254740993' '9007199254740992'
    '123456789012345678' '123456789012345680'
    '1e19' '1e+19'
    'NaN' '-'
    'Infinity' '-'
    'true' 'true'
    'false' 'false'
    '"true"' 'true'
    '"True"' 'True'
    '"false"' 'false'
    '"False"' 'False'
    '"TRUE"' 'TRUE'
    '"1"' '1'
    '"0"' '0'
    '"2"' '2'
    '"1.0"' '1.0'
    '"1.50"' '1.50'
    '"-0"' '-0'
    '"1e400"' '1e400'
    '"9007199254740993"' '9007199254740993'
    '"99999999999999999999"' '99999999999999999999'
    '"0x10"' '0x10'
    '"1.2.3"' '1.2.3'
    '" "' ' '
    '" 1"' ' 1'
    '""' ''
    '"Sgr A*"' 'Sgr A*'
    '"a, \"b\"\nc"' $'"a, ""b""\nc"'
    $'"\xff\xfe bytes"' $'\xff\xfe bytes'
    '"123.45678+45.67890"' '123.45678+45.67890'
)
COLS=(v_text v_real v_integer v_boolean)
T0=1712836000

cat > ml.json << 'EOF'
{"default": {"v_text": {"datatype": "string"}, "v_real": {"datatype": "float"},
             "v_integer": {"datatype": "int"}, "v_boolean": {"datatype": "boolean"}},
 "KP": {}}
EOF
B() { "$BRIDGE" --masterlist ml.json "$@"; }
mkdir -p none all d/KP
printf 'return { name = "all", transform = function() end }\n' > all/all.lua

snaps=()
for ((i = 0; i < ${#V[@]}; i += 2)); do
    t=$((T0 + i / 2))
    j=${V[i]}
    c=${V[i + 1]}
    data=""
    for p in "${COLS[@]}"; do
        data+="${data:+, }\"$p\": [$t.25, $j]"
        [ "$c" == "-" ] || printf '%s,%s\n' "$t.25" "$c" >> "d/KP/$p.csv"
    done
    printf '{"KP": {"data": {%s}}}\n' "$data" > "s$i.json"
    snaps+=("s$i.json")
done

B initdb --sqlitedb fresh.db
for db in live bulk piped; do cp fresh.db $db.db; done
B transform --transformers none --now 1712840000 --sqlitedb live.db --snapshot "${snaps[@]}" > live.out 2> live.err
is "$?" 0 "the live path stores the snapshots"
B insert --transformers none --sqlitedb bulk.db d > bulk.out 2> bulk.err
is "$?" 0 "insert loads the history files straight"
like "$(cat bulk.out)" "straight from 4 file" "(no transformer sees them)"
B insert --transformers all --sqlitedb piped.db d > piped.out 2> piped.err
is "$?" 0 "insert loads them through a transformer"
like "$(cat piped.out)" "through the transformers from [1-9]" "(every point through the pipeline)"

# time, typeof and the value itself; quote() keeps every bit of a REAL and every byte of a TEXT.
rows() { sqlite3 "$1.db" "SELECT time, typeof(value), quote(value) FROM ts_param_$2 ORDER BY time"; }
for p in "${COLS[@]}"; do
    live=$(rows live "$p")
    ok "$p: the live path stored rows" test -n "$live"
    for db in bulk piped; do
        got=$(rows $db "$p")
        is "$got" "$live" "$p: $db insert stores exactly the live rows"
        [ "$got" == "$live" ] || diag "$(diff <(printf '%s\n' "$live") <(printf '%s\n' "$got"))"
    done
done

# A few rows of the table in docs/schema.md, read from the live database.
at() { # PARAM JSON : typeof|value of that value's row, or nothing
    local i
    for ((i = 0; i < ${#V[@]}; i += 2)); do
        [ "${V[i]}" == "$2" ] && break
    done
    sqlite3 live.db "SELECT typeof(value) || '|' || quote(value) FROM ts_param_$1 WHERE time = $((T0 + i / 2))"
}
is "$(at v_boolean true)|$(at v_boolean '"True"')|$(at v_boolean '"1"')|$(at v_boolean 1)" \
    "integer|1|integer|1|integer|1|integer|1" "BOOLEAN: true, \"True\", \"1\" and 1 are 1"
is "$(at v_boolean false)|$(at v_boolean '"False"')|$(at v_boolean '"0"')|$(at v_boolean '-0.0')" \
    "integer|0|integer|0|integer|0|integer|0" "BOOLEAN: false, \"False\", \"0\" and 0 are 0"
is "$(at v_boolean 2)$(at v_boolean '"2"')$(at v_boolean '"TRUE"')$(at v_boolean '" "')$(at v_boolean 1.5)" "" \
    "BOOLEAN: 2, \"2\", \"TRUE\", \" \" and 1.5 do not fit"
is "$(at v_text true)|$(at v_text 0.30000000000000004)|$(at v_text 1e16)|$(at v_text '" "')" \
    "text|'true'|text|'0.30000000000000004'|text|'10000000000000000'|text|' '" \
    "TEXT: a boolean as true/false, a number in the form that reads back, a lone space as sent"
is "$(at v_integer 9007199254740993)|$(at v_integer '"9007199254740993"')|$(at v_integer 1.5)" \
    "integer|9007199254740992|integer|9007199254740993|real|1.5" \
    "INTEGER: an integral number exactly, a fraction kept as REAL"
is "$(at v_real '"1.2.3"')$(at v_real true)$(at v_real '"1e400"')$(at v_integer NaN)" "" \
    "REAL: \"1.2.3\", a boolean and 1e400 do not fit; NaN is dropped"

done_testing
