"""The knowledge checker's parts (see tools/check_knowledge.py): cached index reads, wheels read over HTTP
range requests, fatbin headers, and the rows the planner can emit."""
