"""The webshop domain."""
