"""minikv: a tiny in-memory key-value store served over TCP, one command a line.

    SET key value  -> OK
    GET key        -> VALUE value | MISSING
    DEL key        -> OK | MISSING
    anything else  -> ERROR bad command

The worked example of README.md's "Test your MicroPython code in CI".
"""

import asyncio


class Store:
    def __init__(self):
        self._data = {}

    def handle(self, line):
        """The reply (without its newline) to one command line."""
        parts = line.strip().split(" ", 2)
        cmd = parts[0].upper()
        if cmd == "SET" and len(parts) == 3:
            self._data[parts[1]] = parts[2]
            return "OK"
        if cmd == "GET" and len(parts) == 2:
            return "VALUE " + self._data[parts[1]] if parts[1] in self._data else "MISSING"
        if cmd == "DEL" and len(parts) == 2:
            return "OK" if self._data.pop(parts[1], None) is not None else "MISSING"
        return "ERROR bad command"


async def serve(port, store=None, host="0.0.0.0"):
    """Start serving store on port; returns the asyncio server."""
    store = store if store is not None else Store()

    async def client(reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                writer.write((store.handle(line.decode()) + "\n").encode())
                await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()

    return await asyncio.start_server(client, host, port)


def run(port=7777):
    """Serve forever (as a board's main.py would)."""
    async def main():
        await serve(port)
        print("minikv: serving on port", port)
        while True:
            await asyncio.sleep(3600)

    asyncio.run(main())
