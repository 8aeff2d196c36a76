local M = { name = "process" }
function M.load(ctx) return nil, "not configured" end
return M
