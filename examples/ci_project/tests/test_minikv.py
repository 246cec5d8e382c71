# MicroPython-side tests of minikv, run in the guest by:
#   virtmp test --path src tests
import asyncio
import unittest

import minikv


class TestStore(unittest.TestCase):
    def test_set_get_del(self):
        s = minikv.Store()
        self.assertEqual(s.handle("GET a"), "MISSING")
        self.assertEqual(s.handle("SET a hello world\n"), "OK")
        self.assertEqual(s.handle("GET a"), "VALUE hello world")
        self.assertEqual(s.handle("DEL a"), "OK")
        self.assertEqual(s.handle("DEL a"), "MISSING")

    def test_bad_commands(self):
        s = minikv.Store()
        for line in ("", "SET a", "FLY away", "GET"):
            self.assertEqual(s.handle(line), "ERROR bad command")


class TestServer(unittest.TestCase):
    def test_two_clients_over_loopback(self):
        async def main():
            server = await minikv.serve(7777, host="127.0.0.1")
            r1, w1 = await asyncio.open_connection("127.0.0.1", 7777)
            r2, w2 = await asyncio.open_connection("127.0.0.1", 7777)
            w1.write(b"SET k v1\n")
            await w1.drain()
            self.assertEqual(await r1.readline(), b"OK\n")
            w2.write(b"GET k\n")
            await w2.drain()
            self.assertEqual(await r2.readline(), b"VALUE v1\n")
            for w in (w1, w2):
                w.close()
                await w.wait_closed()
            server.close()
            await server.wait_closed()

        asyncio.run(main())


if __name__ == "__main__":
    unittest.main()
