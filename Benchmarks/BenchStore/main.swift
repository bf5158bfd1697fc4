// Placeholder.
print("not written yet")
