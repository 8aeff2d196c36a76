-- Reproducer (not a libFuzzer input): src/pager.c raise_repeated converts
-- page.ResponseMetadata.HTTPStatusCode and RetryAttempts with (int) unchecked,
-- so a page handed to pager:accept with HTTPStatusCode = 1e300 (or
-- RetryAttempts = 2^31 - 1, then + 1) is undefined behaviour. Run against the
-- ASan+UBSan build (make asan-test builds it):
--   LD_PRELOAD=$(clang -print-file-name=libclang_rt.asan-x86_64.so) \
--   ASAN_OPTIONS=detect_leaks=0 lua5.4 spec/fuzz/crashes/pager-raise-repeated-ub.lua
-- Before the fix: "src/pager.c:131: runtime error: 1e+300 is outside the range
-- of representable values of type 'int'". After: a ResponseError, no report.
package.cpath = "build/asan/?.so;" .. package.cpath
local core = require "sfn.core"
local p = core.new_pager({ executionArn = "arn:aws:states:us-east-1:123456789012:execution:flow:x" })
p:next_params()
p:accept({ mapRuns = {}, nextToken = "t" })
p:next_params()
print(pcall(p.accept, p, { mapRuns = {}, nextToken = "t",
  ResponseMetadata = { HTTPStatusCode = 1e300, RetryAttempts = 2 ^ 31 - 1 } }))
