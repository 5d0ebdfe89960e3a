"""Clients behind a misbehaving network: a loopback TCP proxy that cuts
connections and stalls them, and a hub killed with SIGKILL mid-stream.
Afterwards every generated reading is stored exactly once and every client's
counters agree with the store."""
import asyncio
import random

from conftest import TsClock, run
from telehub_device import TelehubDevice


class _Pipe:
    """One proxied connection: client <-> hub."""

    def __init__(self, client_writer, hub_writer):
        self.writers = (client_writer, hub_writer)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.closed = False

    def cut(self):
        """Drops both sides at once (a reset, no close handshake)."""
        if not self.closed:
            self.closed = True
            for writer in self.writers:
                writer.transport.abort()

    def stall(self, seconds):
        """Stops forwarding in both directions for a while: a link that is up but silent."""
        self.flowing.clear()
        asyncio.get_running_loop().call_later(seconds, self.flowing.set)


class ChaosProxy:
    def __init__(self, upstream_port: int, rng: random.Random):
        self.upstream_port = upstream_port
        self.rng = rng
        self.pipes: set[_Pipe] = set()
        self.cuts = self.stalls = self.refused = 0

    async def start(self):
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/v1/ingest"

    async def _accept(self, client_reader, client_writer):
        try:
            hub_reader, hub_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:  # the hub is down: the client sees its connection dropped
            self.refused += 1
            client_writer.transport.abort()
            return
        pipe = _Pipe(client_writer, hub_writer)
        self.pipes.add(pipe)
        try:
            await asyncio.gather(self._pump(client_reader, hub_writer, pipe), self._pump(hub_reader, client_writer, pipe))
        finally:
            self.pipes.discard(pipe)

    async def _pump(self, reader, writer, pipe):
        try:
            while data := await reader.read(65536):
                await pipe.flowing.wait()
                if pipe.closed:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            pipe.cut()

    async def misbehave(self, mean_interval=0.7):
        """Every so often cuts or stalls a random connection (or all of them)."""
        while True:
            await asyncio.sleep(self.rng.uniform(0.3, 2 * mean_interval - 0.3))
            pipes = [p for p in self.pipes if not p.closed]
            if not pipes:
                continue
            roll = self.rng.random()
            if roll < 0.4:
                self.rng.choice(pipes).cut()
                self.cuts += 1
            elif roll < 0.85:
                self.rng.choice(pipes).stall(self.rng.uniform(1.0, 4.0))
                self.stalls += 1
            elif roll < 0.95:
                for pipe in pipes:  # a network-wide hiccup
                    pipe.stall(self.rng.uniform(0.5, 2.5))
                self.stalls += 1

    def calm(self):
        for pipe in self.pipes:
            pipe.flowing.set()

    async def close(self):
        self.server.close()
        for pipe in list(self.pipes):
            pipe.cut()
        await self.server.wait_closed()


def chaos_client(url, token, path, seed):
    return TelehubDevice(
        url, token, str(path), batch_size=50, window=4,
        backoff_base=0.1, backoff_cap=1.0, stable_after=3.0, ack_timeout=5.0,
        rng=random.Random(seed),
    )


def test_chaos_every_reading_stored_exactly_once(hub_factory, tmp_path):
    hub = hub_factory("--heartbeat-seconds", "1").start()
    names = [f"sensor-{i}" for i in range(5)]
    tokens = {name: hub.device_token(name) for name in names}
    rng = random.Random(1122)
    generated = {name: [] for name in names}

    async def scenario():
        proxy = await ChaosProxy(hub.port, rng).start()
        devices = {
            name: chaos_client(proxy.ws_url, tokens[name], tmp_path / f"{name}.sqlite", seed=i)
            for i, name in enumerate(names)
        }
        for device in devices.values():
            device.start()

        async def produce(name, seconds):
            ts, device = TsClock(), devices[name]
            loop = asyncio.get_running_loop()
            end = loop.time() + seconds
            while loop.time() < end:
                stamp = ts()
                generated[name].append(stamp)
                device.send({"temperature": 20 + (stamp % 1000) / 100, "n": len(generated[name])}, ts=stamp)
                await asyncio.sleep(0.05)  # ~20 readings/s

        async def kill_and_restart_hub():
            await asyncio.sleep(9.0)
            await asyncio.to_thread(hub.kill9)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(hub.start)  # same port, same database

        chaos = asyncio.create_task(proxy.misbehave())
        await asyncio.gather(kill_and_restart_hub(), *(produce(name, 20.0) for name in names))
        chaos.cancel()
        proxy.calm()
        flushed = await asyncio.gather(*(d.flush(25) for d in devices.values()))
        counters = {name: d.counters for name, d in devices.items()}
        for device in devices.values():
            await device.stop()
            device.close()
        await proxy.close()
        return flushed, counters, (proxy.cuts, proxy.stalls, proxy.refused)

    flushed, counters, (cuts, stalls, refused) = run(scenario(), 60)
    assert all(flushed), counters
    assert cuts >= 3 and stalls >= 3, (cuts, stalls)

    expected = {(name, metric, stamp) for name in names for stamp in generated[name] for metric in ("temperature", "n")}
    stored = hub.stored()
    assert len(stored) == len(expected)      # count == distinct generated...
    assert set(stored) == expected           # ...and the very same readings
    for name in names:
        c = counters[name]
        # About 20 readings/s for 20 s; the producers share one event loop with
        # five reconnecting clients, so a loaded machine makes fewer.
        assert c.sent == len(generated[name]) >= 250, (name, c)
        assert c.acked == len(generated[name]) == len(hub.stored(name)) // 2, (name, c)
        assert (c.buffered, c.rejected, c.dropped_full) == (0, 0, 0), (name, c)
        assert c.reconnects >= 1, (name, c)  # the SIGKILL alone forces one per client
    # Values too: each (device, n) carries the value its reading was generated with.
    for name in names:
        for i, stamp in enumerate(generated[name], start=1):
            assert stored[(name, "n", stamp)] == i


def test_a_silent_link_is_noticed_within_two_heartbeats(hub_factory, tmp_path):
    hub = hub_factory("--heartbeat-seconds", "1").start()
    token = hub.device_token("quiet")

    async def scenario():
        proxy = await ChaosProxy(hub.port, random.Random(0)).start()
        states = []
        device = chaos_client(proxy.ws_url, token, tmp_path / "q.sqlite", seed=0)
        device.on_state = lambda s: states.append((s, asyncio.get_running_loop().time()))
        device.start()
        while device.state != "connected":
            await asyncio.sleep(0.01)
        (pipe,) = proxy.pipes
        stalled_at = asyncio.get_running_loop().time()
        pipe.stall(10.0)                       # longer than the test: only a reconnect helps
        device.send({"x": 1})
        while not any(s == "connected" and t > stalled_at for s, t in states):
            await asyncio.sleep(0.01)
        assert await device.flush(5)
        await device.stop()
        device.close()
        await proxy.close()
        noticed = next(t for s, t in states if s == "backing_off" and t > stalled_at)
        return noticed - stalled_at

    noticed_after = run(scenario(), 15)
    # hello.heartbeatSeconds is 1: dead after 2 s without traffic (+ a watchdog tick).
    assert 1.5 < noticed_after < 3.5, noticed_after
