"""(placeholder: filled in by the port of issue 10)"""
