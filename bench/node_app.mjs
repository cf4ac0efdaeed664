// The Node baseline: the same no-op answer as the Lambda handlers, from Node's own http server.
// node bench/node_app.mjs PORT [WORKERS]: WORKERS > 1 runs that many processes (node:cluster).
import cluster from 'node:cluster';
import http from 'node:http';

const port = Number(process.argv[2]);
const workers = Number(process.argv[3] ?? 1);
if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  http
    .createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"ok":true}');
      });
    })
    .listen(port, '127.0.0.1');
}
