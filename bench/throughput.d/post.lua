-- SPDX-License-Identifier: ISC
-- bench/throughput's wrk script: POST each body of a signed corpus once,
-- with the headers Amazon SNS sends, the corpus partitioned across wrk's
-- threads (record i goes to thread i % threads). A thread that runs out of
-- its part starts it again: those requests are counted as repeats.
--
--   wrk ... -s post.lua URL -- CORPUS THREADS TOPIC_ARN
--
-- CORPUS holds records "<length> <MessageId>\n<body>". done() prints lines
-- "BENCH key value..." that bench/throughput reads.

local threads = {}
local nsetup = 0

function setup(thread)
	thread:set("tid", nsetup)
	nsetup = nsetup + 1
	table.insert(threads, thread)
end

function init(args)
	local path, nthreads = args[1], tonumber(args[2])
	topic = args[3]
	bodies, ids = {}, {}
	local f = assert(io.open(path, "rb"))
	local i = 0
	while true do
		local hdr = f:read("*l")
		if hdr == nil then
			break
		end
		local len, mid = hdr:match("^(%d+) (%S+)$")
		len = tonumber(len)
		if i % nthreads == tid then
			bodies[#bodies + 1] = f:read(len)
			ids[#ids + 1] = mid
		else
			f:seek("cur", len)
		end
		i = i + 1
	end
	f:close()
	sent, repeats, statuses = 0, 0, {}
	headers = {
		["Content-Type"] = "text/plain; charset=UTF-8",
		["x-amz-sns-message-type"] = "Notification",
		["x-amz-sns-topic-arn"] = topic,
		["x-amz-sns-subscription-arn"] = topic .. ":c9135db0-26c4-47ec-8998-413945fb5a96",
		["User-Agent"] = "Amazon Simple Notification Service Agent",
	}
end

function request()
	sent = sent + 1
	local k = (sent - 1) % #bodies + 1
	if sent > #bodies then
		repeats = repeats + 1
	end
	headers["x-amz-sns-message-id"] = ids[k]
	return wrk.format("POST", nil, headers, bodies[k])
end

function response(status, hdrs, body)
	local s = tostring(status)
	statuses[s] = (statuses[s] or 0) + 1
end

function done(summary, latency, requests)
	local e = summary.errors
	print(string.format("BENCH duration_us %d", summary.duration))
	print(string.format("BENCH responses %d", summary.requests))
	print(string.format("BENCH errors connect %d read %d write %d status %d timeout %d",
	    e.connect, e.read, e.write, e.status, e.timeout))
	for _, p in ipairs({50, 90, 99, 99.9}) do
		print(string.format("BENCH latency_us p%s %d", tostring(p), latency:percentile(p)))
	end
	print(string.format("BENCH latency_us max %d", latency.max))
	local total, rep, n = {}, 0, 0
	for _, t in ipairs(threads) do
		-- request() ran once in thread 0 before the run (wrk checks the
		-- script's request), so sent counts one request never made there
		n = n + t:get("sent")
		rep = rep + t:get("repeats")
		for s, c in pairs(t:get("statuses")) do
			total[s] = (total[s] or 0) + c
		end
	end
	print(string.format("BENCH generated %d repeats %d", n, rep))
	for s, c in pairs(total) do
		print(string.format("BENCH status %s %d", s, c))
	end
end
