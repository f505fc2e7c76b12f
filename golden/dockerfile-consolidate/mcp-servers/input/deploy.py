import subprocess


def build(service):
    subprocess.run(["docker", "build", "-f", f"mcp-servers/{service}/Dockerfile",
                    f"mcp-servers/{service}"], check=True)
