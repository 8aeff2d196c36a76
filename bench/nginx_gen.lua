-- The generating server for the memory bench: POST /gen/<pages>/<items>
-- answers ListMapRuns with page after page of <items> Map Runs, <pages> pages
-- in all, chained by nextToken ("g<page>"). Items are made per request, so
-- every page holds distinct strings, as a real listing would.
local gen = {}

local EXEC = "arn:aws:states:us-east-1:123456789012:execution:orders-nightly-reconcile:"
  .. "run-2024-11-24T02-00-00Z-7d3f9a1c"
local ITEM = '{"executionArn":"' .. EXEC .. '",'
  .. '"mapRunArn":"arn:aws:states:us-east-1:123456789012:mapRun:orders-nightly-reconcile/'
  .. 'ProcessBatch%d:%08x-%04x-4%03x-8000-%012x",'
  .. '"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:'
  .. 'orders-nightly-reconcile/ProcessBatch%d",'
  .. '"startDate":%.3f,"stopDate":%.3f}'

function gen.content()
  local pages, items = ngx.var.uri:match("^/gen/(%d+)/(%d+)")
  pages, items = tonumber(pages), tonumber(items)
  ngx.req.read_body()
  local body = ngx.req.get_body_data() or ""
  local p = tonumber(body:match('"nextToken"%s*:%s*"g(%d+)"')) or 0
  local out = { '{"mapRuns":[' }
  for i = 0, items - 1 do
    local start = 1732413600 + p * 3600 + i * 1.237
    out[#out + 1] = ITEM:format(i % 7, p, i % 65536, i % 4096, p * 1000003 + i,
      i % 7, start, start + 95.5 + (i % 13) * 7.125)
    if i < items - 1 then out[#out + 1] = "," end
  end
  out[#out + 1] = "]"
  if p + 1 < pages then out[#out + 1] = ',"nextToken":"g' .. (p + 1) .. '"' end
  out[#out + 1] = "}"
  ngx.header["Content-Type"] = "application/x-amz-json-1.0"
  ngx.header["x-amzn-RequestId"] = "9b1f6a3e-5c2d-4e8f-a1b0-3c4d5e6f7a8b"
  ngx.print(out)
end

return gen
