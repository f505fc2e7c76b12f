import subprocess


def build(service):
    subprocess.run(["docker", "build", "-f", "mcp-servers/Dockerfile", "--target", f"{service}",
                    f"mcp-servers/{service}"], check=True)
