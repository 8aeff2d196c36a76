-- Start-up, timed from outside (hyperfine, callgrind): a fresh interpreter
-- that loads sfn and makes a client, and nothing else.
local sfn = require "sfn"
sfn.new {
  region = "us-east-1",
  endpoint = "http://127.0.0.1:8080",
  credentials = {
    access_key_id = "AKIDEXAMPLE",
    secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  },
}
