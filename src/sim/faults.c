/*
 * faults.c - see faults.h.
 */
#include "sim/faults.h"

#include "sim/generator.h"

const sim_fault_def sim_faults[SIM_NFAULTS] = {
    [SIM_F_500] = {"fault-500", "500", "rate of 500 Internal Server Error answers",
                   SIM_SCOPE_SNAPSHOT | SIM_SCOPE_HISTORY, 1},
    [SIM_F_503] = {"fault-503", "503", "rate of 503 Service Unavailable answers (Retry-After)",
                   SIM_SCOPE_SNAPSHOT | SIM_SCOPE_HISTORY, 1},
    [SIM_F_429] = {"fault-429", "429", "rate of 429 Too Many Requests answers (Retry-After)",
                   SIM_SCOPE_SNAPSHOT | SIM_SCOPE_HISTORY, 1},
    [SIM_F_401] = {"fault-401", "401", "rate of snapshots answered 401 because the session expired",
                   SIM_SCOPE_SNAPSHOT, 1},
    [SIM_F_TRUNCATE] = {"fault-truncate", "truncate",
                        "rate of 200 answers whose body is cut short (Content-Length matches)",
                        SIM_SCOPE_SNAPSHOT | SIM_SCOPE_HISTORY, 1},
    [SIM_F_BADJSON] = {"fault-badjson", "badjson", "rate of 200 answers that are not valid JSON",
                       SIM_SCOPE_SNAPSHOT | SIM_SCOPE_HISTORY, 1},
    [SIM_F_STALL] = {"fault-stall", "stall",
                     "rate of answers delayed by --stall-seconds (longer than a client's timeout)",
                     SIM_SCOPE_SNAPSHOT | SIM_SCOPE_HISTORY, 1},
    [SIM_F_DROP] = {"fault-drop", "drop", "rate of connections dropped halfway through the body",
                    SIM_SCOPE_SNAPSHOT | SIM_SCOPE_HISTORY, 1},
    [SIM_F_FUTURE] = {"fault-future", "future",
                      "rate of snapshots with one point timestamped ~9 years ahead",
                      SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_BADNAME] = {"fault-badname", "badname",
                       "rate of snapshots with a parameter name that is not an identifier",
                       SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_NAN] = {"fault-nan", "nan", "rate of snapshots with a NaN, Infinity or huge number",
                   SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_NONUTF8] = {"fault-nonutf8", "nonutf8",
                       "rate of snapshots with a string that is not UTF-8", SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_HISTORY_QUIRKS] = {"history-quirks", "history_quirks",
                              "rate of history answers with a point before startTime and a "
                              "trailing bogus 946684800 point",
                              SIM_SCOPE_HISTORY, 0},
    [SIM_F_ARRAY] = {"fault-array", "array",
                     "rate of snapshots sent as a JSON array holding the snapshot object",
                     SIM_SCOPE_SNAPSHOT, 1},
    [SIM_F_STATION_ARRAY] = {"fault-station-array", "station_array",
                             "rate of snapshots with one station an array, not an object",
                             SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_DATA_ARRAY] = {"fault-data-array", "data_array",
                          "rate of snapshots with one station's data an array, not an object",
                          SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_NO_DATA] = {"fault-no-data", "no_data",
                       "rate of snapshots with one station without its data member",
                       SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_ENTRY_OBJECT] = {"fault-entry-object", "entry_object",
                            "rate of snapshots with one point an object, not [recvTime, value]",
                            SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_TIME_STRING] = {"fault-time-string", "time_string",
                           "rate of snapshots with one recvTime a string", SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_TIME_NULL] = {"fault-time-null", "time_null", "rate of snapshots with one recvTime null",
                         SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_TIME_NEGATIVE] = {"fault-time-negative", "time_negative",
                             "rate of snapshots with one recvTime before 1970 (negative)",
                             SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_TIME_HUGE] = {"fault-time-huge", "time_huge",
                         "rate of snapshots with one recvTime of 1e300", SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_LONG_NAME] = {"fault-long-name", "long_name",
                         "rate of snapshots with one more point, its parameter name 10 kB long",
                         SIM_SCOPE_SNAPSHOT, 0},
    [SIM_F_LONG_VALUE] = {"fault-long-value", "long_value",
                          "rate of snapshots with one string value 1 MB long", SIM_SCOPE_SNAPSHOT,
                          0},
    [SIM_F_BRIDGE_STATION] = {"fault-bridge-station", "bridge_station",
                              "rate of snapshots with data from a station named bridge",
                              SIM_SCOPE_SNAPSHOT, 0},
};

void sim_faults_plan(const double *rates, uint64_t seed, uint64_t serial, unsigned scope,
                     sim_fault_plan *out)
{
    out->answer = -1;
    out->content = 0;
    out->draw = sim_hash(seed, serial, scope, 0xfa);
    for (int i = 0; i < SIM_NFAULTS; i++) {
        if (!(sim_faults[i].scope & scope) || rates[i] <= 0)
            continue;
        /* Every fault draws independently, so raising one rate leaves the others' timing alone. */
        if (sim_unit(sim_hash(seed, serial, scope, (uint64_t)i + 1)) >= rates[i])
            continue;
        if (!sim_faults[i].answer)
            out->content |= (uint32_t)1 << i;
        else if (out->answer < 0)
            out->answer = i;
    }
}
