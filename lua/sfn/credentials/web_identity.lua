local M = { name = "web_identity" }
function M.load(ctx) return nil, "not configured" end
return M
