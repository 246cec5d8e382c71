# MicroPython side of `virtmp test` (sent to the guest's raw REPL, not run
# on the host). _virtmp_run() runs one test file as __main__ and ends with a
# line "\x1evirtmp-result <json>" that the host reads. The file's imports
# come from guest_mount.py's VFS, mounted before.


def _virtmp_run(name, src, net_wait_ms):
    import sys
    import json

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
