-- wrk script of bench/api_balance.py: checks every answer, prints one BENCH line.
-- args: the remaining bytes every answer must show.
-- A response that is not 2xx counts in non2xx; a 2xx whose "remaining_bytes" is not
-- the expected number counts in mismatched. Both must stay 0.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = args[1]
  non2xx = 0
  mismatched = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  else
    local got = string.match(body, '"remaining_bytes":%s*(%d+)')
    if got ~= expected then
      mismatched = mismatched + 1
    end
  end
end

function done(summary, latency, requests)
  local bad, wrong = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    wrong = wrong + thread:get("mismatched")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d " ..
    "mismatched=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, bad, wrong, e.connect, e.read, e.write, e.timeout))
end
