"""The marketplace core: domains, money, events and the Api facade. Imports nothing heavy."""
