-- wrk script for `make bench-compare`: POSTs JSON bodies read from the files
-- named after `--`, in turn (name a file nine times and another once for a
-- 9:1 mix). The requests are formatted once, in init, so wrk's own cost per
-- request is the same for both servers.
--
--   wrk -t1 -c16 -d10s --latency -s post.lua http://127.0.0.1:8080/predict -- one.json hundred.json

local requests = {}
local n = 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  for _, path in ipairs(args) do
    local f = assert(io.open(path, "rb"))
    local body = f:read("*a")
    f:close()
    requests[#requests + 1] = wrk.format(nil, nil, nil, body)
  end
  assert(#requests > 0, "post.lua: name at least one body file after --")
end

function request()
  n = n % #requests + 1
  return requests[n]
end
