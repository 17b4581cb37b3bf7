from samlocal.cli import main

main()
