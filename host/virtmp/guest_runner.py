# MicroPython side of `virtmp test` (sent to the guest's raw REPL, not run
# on the host). _virtmp_run() runs one test file as __main__ and ends with a
# line "\x1evirtmp-result <json>" that the host reads.
#
# The host's import directories are served from this guest's RAM by a small
# read-only VFS at /virtmp (as MicroPython's run-tests.py injects its .mpy
# tests): /virtmp/0 is the test file's own directory, then --path ones.


def _virtmp_run(name, src, files, roots, net_wait_ms):
    import sys
    import json

    if files:
        import io
        import vfs

        class File(io.IOBase):
            def __init__(self, data):
                self.data = data
                self.off = 0

            def readinto(self, buf):
                n = min(len(buf), len(self.data) - self.off)
                buf[:n] = memoryview(self.data)[self.off:self.off + n]
                self.off += n
                return n

            def read(self, n=-1):
                end = len(self.data) if n is None or n < 0 else self.off + n
                out = self.data[self.off:end]
                self.off += len(out)
                return out

            def ioctl(self, request, arg):
                return 0 if request == 4 else -1  # MP_STREAM_CLOSE

        dirs = set()
        for path in files:
            parts = path.split("/")
            for i in range(1, len(parts)):
                dirs.add("/".join(parts[:i]))
        dirs.update(roots)

        class FS:
            def mount(self, readonly, mkfs):
                pass

            def umount(self):
                pass

            def stat(self, path):
                path = path.strip("/")
                if path in files:
                    return (0x8000, 0, 0, 0, 0, 0, len(files[path]), 0, 0, 0)
                if path in dirs or not path:
                    return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
                raise OSError(2)  # ENOENT

            def open(self, path, mode):
                path = path.strip("/")
                if "w" in mode or "a" in mode or "+" in mode:
                    raise OSError(30)  # EROFS
                if path not in files:
                    raise OSError(2)
                data = files[path]
                return File(data) if "b" in mode else io.StringIO(data.decode())

            def ilistdir(self, path):
                path = path.strip("/")
                prefix = path + "/" if path else ""
                seen = set()
                for p in list(files) + list(dirs):
                    if p.startswith(prefix) and p != path:
                        entry = p[len(prefix):].split("/")[0]
                        if entry not in seen:
                            seen.add(entry)
                            kind = 0x8000 if prefix + entry in files else 0x4000
                            yield (entry, kind, 0)

            def chdir(self, path):
                pass

            def getcwd(self):
                return "/"

        vfs.mount(FS(), "/virtmp")
        for i, root in enumerate(roots):
            sys.path.insert(i, "/virtmp/" + root)

    if net_wait_ms:
        import _virt
        if _virt.net_present():
            import network
            import time
            t = time.ticks_ms()
            while not network.LAN().isconnected() and time.ticks_diff(time.ticks_ms(), t) < net_wait_ms:
                time.sleep_ms(5)

    import unittest
    results = []
    g = {"__name__": "__main__", "__file__": name}
    run_main = unittest.main

    class Module:
        pass

    def module_of(names):
        m = Module()
        for k, v in names.items():
            try:
                setattr(m, k, v)
            except (AttributeError, TypeError):
                pass
        return m

    def main(module="__main__", exit=False):
        # unittest.main() from the test file: its TestCases are in g.
        if module == "__main__" or module is None:
            module = module_of(g)
        result = run_main(module)
        results.append(result)
        if exit:
            raise SystemExit(0 if result.wasSuccessful() else 1)
        return result

    unittest.main = main
    status = None
    try:
        exec(compile(src, name, "exec"), g)
        if not results:
            # A unittest module without unittest.main(): run its TestCases.
            for v in g.values():
                if isinstance(v, type) and issubclass(v, unittest.TestCase) and v is not unittest.TestCase:
                    main()
                    break
    except SystemExit as e:
        status = e.args[0] if e.args else None
    finally:
        unittest.main = run_main
    if status is not None and not isinstance(status, int):
        print(status)
        status = 1
    counts = [0, 0, 0, 0]
    for r in results:
        counts[0] += r.testsRun
        counts[1] += len(r.failures)
        counts[2] += len(r.errors)
        counts[3] += len(r.skipped)
    print("\x1evirtmp-result " + json.dumps({"status": status or 0, "unittest": len(results) > 0,
                                              "tests": counts[0], "failures": counts[1],
                                              "errors": counts[2], "skipped": counts[3]}))
