"""A hostile function: each probe tries something a function must not be able to do.

Probes that kill, fork, allocate or burn CPU act only after proving they run inside a Hearth
sandbox (their own pid namespace, whose init is hearth-init); otherwise they fail without
acting, so that running them unsandboxed cannot harm the machine.
"""
import ctypes
import errno
import os
import signal
import socket
import time

libc = ctypes.CDLL(None, use_errno=True)


def in_sandbox():
    try:
        with open('/proc/1/comm') as f:
            init = f.read().strip()
    except OSError:
        return False
    # Only in a pid namespace of its own is this process's pid 1 the sandbox's init; on the
    # host, pid 1 is the host's init.
    return init == 'hearth-init'


def require_sandbox():
    if not in_sandbox():
        raise RuntimeError('refusing to act: not inside a Hearth sandbox (own pid namespace)')


def status_fields():
    fields = {}
    with open('/proc/self/status') as f:
        for line in f:
            key, _, value = line.partition(':')
            fields[key] = value.strip()
    return fields


def identity(event):
    fields = status_fields()
    pids = [p for p in os.listdir('/proc') if p.isdigit()]
    return {
        'uid': os.getuid(), 'gid': os.getgid(), 'euid': os.geteuid(),
        'CapEff': fields.get('CapEff'), 'CapPrm': fields.get('CapPrm'),
        'CapBnd': fields.get('CapBnd'), 'NoNewPrivs': fields.get('NoNewPrivs'),
        'Seccomp': fields.get('Seccomp'),
        'cwd': os.getcwd(), 'task_root': os.environ.get('LAMBDA_TASK_ROOT'),
        'code': sorted(os.listdir('/var/task')),
        'hostname': socket.gethostname(), 'processes': len(pids),
        'sandboxed': in_sandbox(),
    }


def read(event):
    out = {}
    for path in event['paths']:
        try:
            if os.path.isdir(path):
                out[path] = 'listed:' + ','.join(sorted(os.listdir(path))[:5])
            else:
                with open(path, 'rb') as f:
                    out[path] = 'read:%d' % len(f.read(64))
        except OSError as e:
            out[path] = errno.errorcode.get(e.errno, str(e.errno))
    return out


def write(event):
    out = {}
    for path in event['paths']:
        try:
            with open(path, 'w') as f:
                f.write('x')
            out[path] = 'written'
            os.unlink(path)
        except OSError as e:
            out[path] = errno.errorcode.get(e.errno, str(e.errno))
    return out


def call(name, *args):
    rc = getattr(libc, name)(*args)
    return 'ok' if rc == 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def privileged(event):
    PTRACE_ATTACH = 16
    return {
        'mount': call('mount', b'none', b'/tmp', b'tmpfs', 0, None),
        'sethostname': call('sethostname', b'evil', 4),
        'ptrace': call('ptrace', PTRACE_ATTACH, 1, None, None),
        'unshare': call('unshare', 0x20000000),  # CLONE_NEWUTS
        'hostname': socket.gethostname(),
    }


def killall(event):
    require_sandbox()
    os.kill(-1, signal.SIGKILL)  # everything this uid can see, itself included
    time.sleep(5)
    return 'survived'


def forkbomb(event):
    require_sandbox()
    children = []
    error = None
    deadline = time.monotonic() + 20
    while len(children) < 100000 and time.monotonic() < deadline:
        try:
            pid = os.fork()
        except OSError as e:
            error = errno.errorcode.get(e.errno, str(e.errno))
            break
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    for pid in children:
        os.waitpid(pid, 0)
    return {'forked': len(children), 'error': error}


def oom(event):
    require_sandbox()
    hog = b'x' * (event['mb'] * 1024 * 1024)
    return {'allocated': len(hog)}


def cpu(event):
    require_sandbox()
    seconds = event.get('seconds', 2)
    start = time.monotonic()
    pids = []
    for _ in range(event.get('processes', 4)):
        pid = os.fork()
        if pid == 0:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                pass
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    wall = time.monotonic() - start
    t = os.times()
    return {'wall': wall, 'cpu': t.children_user + t.children_system}


def connect(event):
    out = {}
    for target in event['targets']:
        host, port = target.rsplit(':', 1)
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect((host, int(port)))
            out[target] = 'connected'
        except OSError as e:
            out[target] = errno.errorcode.get(e.errno, type(e).__name__) if e.errno else type(e).__name__
        finally:
            s.close()
    return out


PROBES = {f.__name__: f for f in (identity, read, write, privileged, killall, forkbomb, oom, cpu, connect)}


def handler(event, context):
    return PROBES[event['probe']](event)
