#!/bin/bash
# values: every kind of value vlbimon sends, into every column type, stored
# alike by the live path (the pipeline and the store, as `transform
# --sqlitedb` and the bridge run them) and by `insert` of the history files
# the same values make, both straight (bulk load) and through a transformer.
# docs/schema.md has the conversion table this checks. On PostgreSQL the
# three paths store the same rows as on SQLite, less exactly what
# PostgreSQL cannot hold: text that is not UTF-8, and a fraction in an
# INTEGER (BIGINT) series.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pglib.sh"
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

# --- PostgreSQL: the same three paths
pg_start main
conn() { echo "host=$PG_main_SOCK port=$PG_main_PORT user=postgres dbname=$1"; }
for db in live bulk piped; do
    pg_psql main -c "CREATE DATABASE $db"
    B initdb --postgres "$(conn $db)" 2> /dev/null
done
B transform --transformers none --now 1712840000 --postgres "$(conn live)" --snapshot "${snaps[@]}" > pg-live.out 2> pg-live.err
is "$?" 0 "PostgreSQL: the live path stores the snapshots"
B insert --transformers none --postgres "$(conn bulk)" d > pg-bulk.out 2> pg-bulk.err
is "$?" 0 "PostgreSQL: insert loads the history files straight"
B insert --transformers all --postgres "$(conn piped)" d > pg-piped.out 2> pg-piped.err
is "$?" 0 "PostgreSQL: insert loads them through a transformer"

# time|value, the value's bits kept: text as hex, a real read back to 17 digits, integers as they are.
canon() { perl -pe 's/\|r(.*)$/sprintf("|r%.17e", $1)/e'; }
lite_rows() {
    sqlite3 live.db "SELECT time, CASE typeof(value) WHEN 'text' THEN 'x' || hex(value)
        WHEN 'real' THEN 'r' || quote(value) ELSE 'i' || value END FROM ts_param_$1 ORDER BY time" | canon
}
pg_rows() {
    "$PG_BIN/psql" -X -At -d "$(conn "$1")" -c "SELECT time || '|' || CASE pg_typeof(value)
        WHEN 'text'::regtype THEN 'x' || upper(encode(convert_to(value::text, 'UTF8'), 'hex'))
        WHEN 'double precision'::regtype THEN 'r' || value::text ELSE 'i' || value::text END
        FROM ts_param_$2 ORDER BY time" | canon
}
# What PostgreSQL cannot hold: a REAL in an INTEGER series, text that is not UTF-8.
holdable() {
    perl -MEncode -sne 'my ($t, $v) = /^(\d+)\|(.*)$/; next if $v =~ /^r/ && $p eq "v_integer";
        if ($v =~ /^x(.*)/) { my $b = pack "H*", $1; next unless eval { Encode::decode("UTF-8", $b, Encode::FB_CROAK); 1 } }
        print' -- -p="$1"
}
for p in "${COLS[@]}"; do
    want=$(lite_rows "$p" | holdable "$p")
    for db in live bulk piped; do
        got=$(pg_rows $db "$p")
        is "$got" "$want" "PostgreSQL, $p: the $db path stores SQLite's rows, less what it cannot hold"
    done
done
gone() { # PARAM : the snapshots' values of the rows SQLite has and PostgreSQL has not
    local t v
    comm -23 <(lite_rows "$1") <(pg_rows live "$1") | while IFS='|' read -r t v; do
        printf '%s ' "${V[2 * (t - T0)]}"
    done
}
is "$(gone v_integer)" '1.5 0.1 0.30000000000000004 1e300 1.7976931348623157e308 1e19 "1.50" "99999999999999999999" ' \
    "PostgreSQL, INTEGER: exactly the numbers that are no 64-bit integer are not stored"
is "$(gone v_text)" "$(printf '"\xff\xfe bytes" ')" "PostgreSQL, TEXT: exactly the text that is not UTF-8 is not stored"
is "$(gone v_real)$(gone v_boolean)" "" "PostgreSQL, REAL and BOOLEAN: every value SQLite stores"
like "$(cat pg-bulk.err)" "ts_param_v_text: 1 value\(s\) of the wrong type, text that is not UTF-8" \
    "insert says what it skipped"

done_testing
