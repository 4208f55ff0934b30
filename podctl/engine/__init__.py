"""The engine: one function per verb, with frozen Options and Report dataclasses."""
