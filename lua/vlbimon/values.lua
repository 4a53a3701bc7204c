-- values.lua - reading vlbimon's loosely typed values: some stations send
-- booleans as JSON booleans, others as the strings "true"/"True" and
-- "false"/"False".
local M = {}

local BOOLEANS = { [true] = true, ["true"] = true, ["True"] = true,
    [false] = false, ["false"] = false, ["False"] = false }

-- true or false for the boolean spellings vlbimon uses, nil for anything else.
function M.boolean(v)
    return BOOLEANS[v]
end

-- A value of only spaces stands for "nothing" (SMA sends " " when it goes off source).
function M.blank_to_empty(v)
    if type(v) == "string" and v:find("^ *$") then
        return ""
    end
    return v
end

return M
