"""A small unittest for MicroPython (also runs under CPython).

Covers what MicroPython's own test suite uses: TestCase with the common
assert* methods, setUp/tearDown, setUpClass/tearDownClass, skipping, and
main(), which runs the TestCase classes of a module (default: __main__)
and ends with the summary that tests/run-tests.py parses:

    ----------------------------------------------------------------------
    Ran 3 tests

    OK                                     (or: OK (skipped=1))
                                           (or: FAILED (failures=1, errors=0))
"""

import sys

__all__ = [
    "SkipTest",
    "TestCase",
    "TestResult",
    "main",
    "skip",
    "skipIf",
    "skipUnless",
]


class SkipTest(Exception):
    """Raised by a test (or skipTest()) to mark it as skipped."""


# Skipping.

_SKIP_ATTR = "__unittest_skip__"


def skip(reason):
    """Decorator: always skip the test method or TestCase class."""

    def decorator(obj):
        if isinstance(obj, type):
            setattr(obj, _SKIP_ATTR, reason)
            return obj

        def skipped(*args, **kwargs):
            raise SkipTest(reason)

        return skipped

    return decorator


def skipIf(condition, reason):
    return skip(reason) if condition else (lambda obj: obj)


def skipUnless(condition, reason):
    return skipIf(not condition, reason)


# Test cases.


class _RaisesContext:
    def __init__(self, test, expected):
        self.test = test
        self.expected = expected
        self.exception = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        if exc_type is None:
            name = getattr(self.expected, "__name__", str(self.expected))
            self.test.fail("%s not raised" % name)
        if not issubclass(exc_type, self.expected):
            return False  # let an unexpected exception propagate
        self.exception = exc_value
        return True


class TestCase:
    def __init__(self, methodName="runTest"):
        self._method = methodName

    # Fixtures: override in subclasses.

    @classmethod
    def setUpClass(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        pass

    def setUp(self):
        pass

    def tearDown(self):
        pass

    def __str__(self):
        cls = type(self)
        return "%s (%s.%s)" % (self._method, cls.__module__, cls.__name__)

    # Outcomes.

    def fail(self, msg=None):
        raise AssertionError(msg or "test failed")

    def skipTest(self, reason):
        raise SkipTest(reason)

    def _fail(self, default, msg):
        self.fail(default if msg is None else "%s : %s" % (default, msg))

    # Assertions.

    def assertEqual(self, first, second, msg=None):
        if not first == second:
            self._fail("%r != %r" % (first, second), msg)

    def assertNotEqual(self, first, second, msg=None):
        if not first != second:
            self._fail("%r == %r" % (first, second), msg)

    def assertTrue(self, expr, msg=None):
        if not expr:
            self._fail("%r is not true" % (expr,), msg)

    def assertFalse(self, expr, msg=None):
        if expr:
            self._fail("%r is not false" % (expr,), msg)

    def assertIs(self, first, second, msg=None):
        if first is not second:
            self._fail("%r is not %r" % (first, second), msg)

    def assertIsNot(self, first, second, msg=None):
        if first is second:
            self._fail("unexpectedly identical: %r" % (first,), msg)

    def assertIsNone(self, obj, msg=None):
        if obj is not None:
            self._fail("%r is not None" % (obj,), msg)

    def assertIsNotNone(self, obj, msg=None):
        if obj is None:
            self._fail("unexpectedly None", msg)

    def assertIn(self, member, container, msg=None):
        if member not in container:
            self._fail("%r not found in %r" % (member, container), msg)

    def assertNotIn(self, member, container, msg=None):
        if member in container:
            self._fail("%r unexpectedly found in %r" % (member, container), msg)

    def assertIsInstance(self, obj, cls, msg=None):
        if not isinstance(obj, cls):
            self._fail("%r is not an instance of %r" % (obj, cls), msg)

    def assertNotIsInstance(self, obj, cls, msg=None):
        if isinstance(obj, cls):
            self._fail("%r is an instance of %r" % (obj, cls), msg)

    def assertLess(self, a, b, msg=None):
        if not a < b:
            self._fail("%r not less than %r" % (a, b), msg)

    def assertLessEqual(self, a, b, msg=None):
        if not a <= b:
            self._fail("%r not less than or equal to %r" % (a, b), msg)

    def assertGreater(self, a, b, msg=None):
        if not a > b:
            self._fail("%r not greater than %r" % (a, b), msg)

    def assertGreaterEqual(self, a, b, msg=None):
        if not a >= b:
            self._fail("%r not greater than or equal to %r" % (a, b), msg)

    def _almost(self, first, second, places, delta):
        if first == second:
            return True, ""
        diff = abs(first - second)
        if delta is not None:
            return diff <= delta, "within %r delta (%r difference)" % (delta, diff)
        if places is None:
            places = 7
        return round(diff, places) == 0, "within %r places (%r difference)" % (places, diff)

    def assertAlmostEqual(self, first, second, places=None, msg=None, delta=None):
        ok, how = self._almost(first, second, places, delta)
        if not ok:
            self._fail("%r != %r %s" % (first, second, how), msg)

    def assertNotAlmostEqual(self, first, second, places=None, msg=None, delta=None):
        ok, how = self._almost(first, second, places, delta)
        if ok:
            self._fail("%r == %r %s" % (first, second, how), msg)

    def assertRaises(self, expected, *args, **kwargs):
        """assertRaises(exc, func, *args, **kwargs), or `with assertRaises(exc) as cm:`."""
        ctx = _RaisesContext(self, expected)
        if not args:
            return ctx
        with ctx:
            args[0](*args[1:], **kwargs)


# Running.


def _format_exc(exc):
    print_exception = getattr(sys, "print_exception", None)
    if print_exception is not None:  # MicroPython
        import io

        buf = io.StringIO()
        print_exception(exc, buf)
        return buf.getvalue()
    import traceback

    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


class TestResult:
    def __init__(self):
        self.testsRun = 0
        self.failures = []  # (test description, formatted exception)
        self.errors = []
        self.skipped = []  # (test description, reason)

    def wasSuccessful(self):
        return not self.failures and not self.errors

    def _run(self, what, func, *args):
        """Call func(*args): return "ok", "skip" (SkipTest), "fail" or "error"."""
        try:
            func(*args)
            return "ok"
        except SkipTest as e:
            self.skipped.append((what, str(e)))
            return "skip"
        except AssertionError as e:
            self.failures.append((what, _format_exc(e)))
            return "fail"
        except Exception as e:
            self.errors.append((what, _format_exc(e)))
            return "error"

    def run_case(self, case):
        self.testsRun += 1
        print("%s ..." % case, end=" ")
        outcome = self._run(str(case), case.setUp)
        if outcome == "ok":
            outcome = self._run(str(case), getattr(case, case._method))
            # tearDown runs whatever the test did; its own problem counts too.
            after = self._run(str(case), case.tearDown)
            if outcome in ("ok", "skip") and after != "ok":
                outcome = after
        if outcome == "skip":
            print("skipped %r" % self.skipped[-1][1])
        else:
            print({"ok": "ok", "fail": "FAIL", "error": "ERROR"}[outcome])

    def run_class(self, cls):
        names = sorted(n for n in dir(cls) if n.startswith("test") and callable(getattr(cls, n)))
        if not names:
            return
        qualname = "%s.%s" % (cls.__module__, cls.__name__)
        reason = getattr(cls, _SKIP_ATTR, None)
        if reason is None:
            outcome = self._run("setUpClass (%s)" % qualname, cls.setUpClass)
            if outcome == "skip":
                reason = self.skipped.pop()[1]
            elif outcome != "ok":
                return  # reported as an error; its tests do not run
        if reason is not None:
            for name in names:
                self.testsRun += 1
                self.skipped.append((str(cls(name)), reason))
                print("%s ... skipped %r" % (cls(name), reason))
            return
        for name in names:
            self.run_case(cls(name))
        self._run("tearDownClass (%s)" % qualname, cls.tearDownClass)

    def report(self):
        for kind, items in (("FAIL", self.failures), ("ERROR", self.errors)):
            for what, text in items:
                print("=" * 70)
                print("%s: %s" % (kind, what))
                print("-" * 70)
                print(text.rstrip("\n"))
                print()
        print("-" * 70)
        print("Ran %d tests" % self.testsRun)
        print()
        if self.wasSuccessful():
            print("OK (skipped=%d)" % len(self.skipped) if self.skipped else "OK")
        else:
            print("FAILED (failures=%d, errors=%d)" % (len(self.failures), len(self.errors)))


def _test_classes(module):
    classes = []
    for name in sorted(dir(module)):
        obj = getattr(module, name)
        if isinstance(obj, type) and issubclass(obj, TestCase) and obj is not TestCase:
            classes.append(obj)
    return classes


def main(module="__main__", exit=False):
    """Run every TestCase subclass found in module (a module or its name).

    Prints each test's outcome and the summary, and returns the TestResult.
    With exit=True, raises SystemExit(0 if all passed else 1) instead.
    """
    if isinstance(module, str):
        name = module
        module = sys.modules.get(name)
        if module is None:
            module = __import__(name)
    result = TestResult()
    for cls in _test_classes(module):
        result.run_class(cls)
    result.report()
    if exit:
        raise SystemExit(0 if result.wasSuccessful() else 1)
    return result
