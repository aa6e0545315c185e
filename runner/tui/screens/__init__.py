"""Modal screens: doctor, solution."""
