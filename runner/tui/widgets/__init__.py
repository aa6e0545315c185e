"""The app's widgets; each shows data handed to it and keeps no course state."""
