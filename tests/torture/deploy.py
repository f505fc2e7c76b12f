# -*- coding: utf-8 -*-
import subprocess


def build(svc):
    subprocess.run(["docker", "build", "-f", f"svc/{svc}/Dockerfile", "."], check=True)  # ✓
