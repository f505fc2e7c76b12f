"""Consolidate near-duplicate Dockerfiles into one multi-stage Dockerfile.

members: what each Dockerfile is (instruction keys, stages, what its COPYs take)
cluster: bucketing and similarity clustering (deterministic, no all-pairs)
merge:   target names and the merged text
refs:    every place that builds a Dockerfile, and how to rewrite it
"""
