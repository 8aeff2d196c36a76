local M = { name = "container" }
function M.load(ctx) return nil, "not configured" end
return M
