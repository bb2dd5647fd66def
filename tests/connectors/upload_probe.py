"""Uploads one file with the connector and prints the process's peak RSS in KiB (run as a subprocess)."""

import asyncio
import resource
import sys

from connectors.symbl import SymblClient, SymblSettings


async def main(url: str, path: str) -> None:
    settings = SymblSettings(base_url=url, app_id="test-app", app_secret="test-secret")
    async with SymblClient(settings) as client:
        await client.submit_audio_file(path)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


asyncio.run(main(sys.argv[1], sys.argv[2]))
