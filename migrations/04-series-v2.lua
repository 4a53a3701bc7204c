-- 04-series-v2: every series table rebuilt in the v2 layout, clustered on
-- its key (time, station, seq) instead of a rowid table with an index on
-- time and one on station (docs/schema.md): a third of the writes, half the
-- disk, and the dashboards' queries read one range of one b-tree. One table
-- per transaction, so an interrupted fix leaves a consistent database that
-- the next fix continues, and the bridge may go on writing meanwhile.
local migrate = require "vlbimon.migrate"

return migrate.series_v2 {
    description = "rebuild the series tables in the v2 layout: WITHOUT ROWID, keyed on "
        .. "(time, station, seq), without the time and station indexes",
}
