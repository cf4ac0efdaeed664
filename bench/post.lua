-- wrk script: POST a small JSON event to the URL given on the command line.
wrk.method = "POST"
wrk.body = '{"name":"bench"}'
wrk.headers["Content-Type"] = "application/json"
