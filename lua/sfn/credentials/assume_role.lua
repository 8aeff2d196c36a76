local M = { name = "assume_role" }
function M.load(ctx) return nil, "not configured" end
return M
