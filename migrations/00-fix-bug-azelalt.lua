-- 00-fix-bug-azelalt: the original bridge split azimuth/elevation points
-- into wrongly named series (the elevation of telescope_azimuthElevation as
-- "_alt", the system temperature's az/el as if they were ra/dec).
local migrate = require "vlbimon.migrate"

local steps = { migrate.rename_series("telescope_azimuthElevation_alt", "telescope_azimuthElevation_el") }
for n = 1, 4 do
    local p = "if_" .. n .. "_systemTempAzel"
    steps[#steps + 1] = migrate.rename_series(p .. "_ra", p .. "_az")
    steps[#steps + 1] = migrate.rename_series(p .. "_dec", p .. "_el")
end

return migrate.define {
    description = "rename wrongly named split azimuth/elevation series (_alt, _ra, _dec) to _az/_el",
    steps = steps,
}
