from iaclint.cli import main

main()
