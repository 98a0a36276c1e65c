"""Runs: the one orchestrator (request -> validate -> sandbox -> check -> metrics -> store), the
jobs queue, progress files, config files, costs, checks on what the child returned, run
administration and the Pine glue."""
