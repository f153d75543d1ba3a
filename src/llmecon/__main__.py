from llmecon.cli import main

main()
