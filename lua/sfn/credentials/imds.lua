local M = { name = "imds" }
function M.load(ctx) return nil, "not configured" end
return M
