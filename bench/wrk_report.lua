-- Report script for wrk, used by bench/proxy.py: after the run it prints one
-- JSON line with the request count, errors and latency percentiles in microseconds.

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"socket_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect + errors.read + errors.write, errors.status, errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
