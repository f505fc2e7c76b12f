"""Build and push the MCP server images."""
import subprocess
import sys

SERVERS = ["ai-memory", "github", "postgres"]


def build(service: str) -> None:
    subprocess.run(
        ["docker", "build", "-f", f"mcp-servers/{service}/Dockerfile", "-t", f"mcp-{service}",
         f"mcp-servers/{service}"],
        check=True,
    )


if __name__ == "__main__":
    for name in sys.argv[1:] or SERVERS:
        build(name)
